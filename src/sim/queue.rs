//! The future-event list: a binary min-heap of compact `(time, sequence, event)` entries.
//!
//! Entries are ordered by time, then by insertion sequence, so two events scheduled for
//! the same nanosecond are processed in the order they were scheduled. This total order
//! makes every run bit-reproducible. The heap stores events inline (no boxing) and keeps
//! its capacity, so a simulation in steady state does not allocate.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One queued event. The key packs `time << 64 | sequence` so that one `u128`
/// comparison orders entries.
struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // `BinaryHeap` is a max-heap: reverse to pop the earliest key first.
        other.key.cmp(&self.key)
    }
}

/// Events ordered by `(time in ns, insertion sequence)`.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// Queues `event` at `time` (ns). Events at equal times pop in push order.
    #[inline]
    pub fn push(&mut self, time: u64, event: E) {
        let key = ((time as u128) << 64) | self.seq as u128;
        self.seq += 1;
        self.heap.push(Entry { key, event });
    }

    /// Removes and returns the earliest event with its time (ns).
    #[inline]
    pub fn pop(&mut self) -> Option<(u64, E)> {
        self.heap.pop().map(|e| ((e.key >> 64) as u64, e.event))
    }

    /// Time (ns) of the earliest event.
    #[inline]
    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|e| (e.key >> 64) as u64)
    }

    /// Number of queued events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no event is queued.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Total number of events ever pushed (the next insertion sequence number).
    pub fn pushed(&self) -> u64 {
        self.seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_insertion_order() {
        let mut q = EventQueue::new();
        q.push(5, 'a');
        q.push(3, 'b');
        q.push(5, 'c');
        q.push(3, 'd');
        q.push(u64::MAX, 'e');
        q.push(0, 'f');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['f', 'b', 'd', 'a', 'c', 'e']);
        assert_eq!(q.pushed(), 6);
        assert!(q.is_empty());
    }
}
