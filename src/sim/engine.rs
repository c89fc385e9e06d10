//! The generic discrete-event engine: an integer-nanosecond clock, the future-event
//! list and a [`Model`] trait. The engine knows nothing about inference; the model
//! in [`super::inference`] is one user of it.

use super::queue::EventQueue;

/// Simulated time in nanoseconds.
pub type Time = u64;

/// Nanoseconds per millisecond.
pub const NS_PER_MS: u64 = 1_000_000;
/// Nanoseconds per second.
pub const NS_PER_S: u64 = 1_000_000_000;

/// A simulation model: its state plus a handler called once per event.
///
/// The handler reads the clock and schedules further events through the
/// [`Scheduler`]. `Event` should be a small `Copy` enum (no boxing): it is stored
/// inline in the future-event list.
pub trait Model {
    /// The events this model exchanges with itself.
    type Event;
    /// Handles one event at `scheduler.now()`.
    fn handle(&mut self, event: Self::Event, scheduler: &mut Scheduler<Self::Event>);
}

/// Error scheduling an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedulingError {
    /// The requested time is before the current simulated time.
    #[error("cannot schedule an event at {at} ns: the clock is already at {now} ns")]
    InPast {
        /// Requested time, ns.
        at: Time,
        /// Current time, ns.
        now: Time,
    },
}

/// The clock and the future-event list, handed to [`Model::handle`].
pub struct Scheduler<E> {
    now: Time,
    queue: EventQueue<E>,
    stop: bool,
}

impl<E> Scheduler<E> {
    fn new() -> Self {
        Scheduler {
            now: 0,
            queue: EventQueue::new(),
            stop: false,
        }
    }

    /// Current simulated time, ns.
    #[inline]
    pub fn now(&self) -> Time {
        self.now
    }

    /// Schedules `event` `delay` ns from now (saturating at `u64::MAX`).
    #[inline]
    pub fn schedule_in(&mut self, delay: Time, event: E) {
        self.queue.push(self.now.saturating_add(delay), event);
    }

    /// Schedules `event` at absolute time `at` (ns), which must not be in the past.
    #[inline]
    pub fn schedule_at(&mut self, at: Time, event: E) -> Result<(), SchedulingError> {
        if at < self.now {
            return Err(SchedulingError::InPast { at, now: self.now });
        }
        self.queue.push(at, event);
        Ok(())
    }

    /// Asks the running `run*` call to return after the current event.
    #[inline]
    pub fn stop(&mut self) {
        self.stop = true;
    }

    /// Number of events waiting in the future-event list.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

/// Why a `run*` call returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// A handler called [`Scheduler::stop`].
    Stopped,
    /// The future-event list is empty.
    Exhausted,
    /// The requested horizon was reached (the clock now equals it).
    Horizon,
}

/// A model plus its scheduler: the thing you run.
pub struct Simulation<M: Model> {
    model: M,
    scheduler: Scheduler<M::Event>,
    processed: u64,
}

impl<M: Model> Simulation<M> {
    /// A simulation of `model` with the clock at 0 and no events.
    pub fn new(model: M) -> Self {
        Simulation {
            model,
            scheduler: Scheduler::new(),
            processed: 0,
        }
    }

    /// Schedules an initial (or external) event at absolute time `at`, ns.
    pub fn schedule_at(&mut self, at: Time, event: M::Event) -> Result<(), SchedulingError> {
        self.scheduler.schedule_at(at, event)
    }

    /// Current simulated time, ns.
    pub fn now(&self) -> Time {
        self.scheduler.now
    }

    /// Events handled so far.
    pub fn events_processed(&self) -> u64 {
        self.processed
    }

    /// Events still queued.
    pub fn pending(&self) -> usize {
        self.scheduler.queue.len()
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model, mutably (e.g. to change parameters between runs).
    pub fn model_mut(&mut self) -> &mut M {
        &mut self.model
    }

    /// Consumes the simulation, returning the model.
    pub fn into_model(self) -> M {
        self.model
    }

    /// Handles the earliest event, if any; returns its time (ns).
    pub fn step(&mut self) -> Option<Time> {
        let (t, e) = self.scheduler.queue.pop()?;
        self.scheduler.now = t;
        self.model.handle(e, &mut self.scheduler);
        self.processed += 1;
        Some(t)
    }

    /// Runs until the event list is empty or a handler stops the run.
    pub fn run(&mut self) -> RunEnd {
        self.scheduler.stop = false;
        while let Some((t, e)) = self.scheduler.queue.pop() {
            self.scheduler.now = t;
            self.model.handle(e, &mut self.scheduler);
            self.processed += 1;
            if self.scheduler.stop {
                return RunEnd::Stopped;
            }
        }
        RunEnd::Exhausted
    }

    /// Handles every event with time ≤ `horizon` (ns), then sets the clock to
    /// `horizon` (unless a handler stopped the run first).
    pub fn run_until(&mut self, horizon: Time) -> RunEnd {
        self.scheduler.stop = false;
        while let Some(t) = self.scheduler.queue.peek_time() {
            if t > horizon {
                break;
            }
            self.step();
            if self.scheduler.stop {
                return RunEnd::Stopped;
            }
        }
        self.scheduler.now = self.scheduler.now.max(horizon);
        RunEnd::Horizon
    }

    /// Runs for `duration` ns from the current time (see [`Simulation::run_until`]).
    pub fn run_for(&mut self, duration: Time) -> RunEnd {
        self.run_until(self.scheduler.now.saturating_add(duration))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two players hit a ball back and forth every 3 ns.
    struct PingPong {
        hits: [u32; 2],
    }

    impl Model for PingPong {
        type Event = u8;
        fn handle(&mut self, player: u8, s: &mut Scheduler<u8>) {
            self.hits[player as usize] += 1;
            s.schedule_in(3, 1 - player);
        }
    }

    #[test]
    fn run_until_and_run_for_advance_the_clock_exactly() {
        let mut sim = Simulation::new(PingPong { hits: [0, 0] });
        sim.schedule_at(0, 0).unwrap();
        assert_eq!(sim.run_until(10), RunEnd::Horizon);
        // events at 0, 3, 6, 9
        assert_eq!(sim.model().hits, [2, 2]);
        assert_eq!(sim.now(), 10);
        sim.run_for(2); // event at 12
        assert_eq!(sim.model().hits, [3, 2]);
        assert_eq!(sim.events_processed(), 5);
        assert_eq!(sim.now(), 12);
        assert_eq!(
            sim.schedule_at(11, 0),
            Err(SchedulingError::InPast { at: 11, now: 12 })
        );
    }

    struct Countdown(u32);
    impl Model for Countdown {
        type Event = ();
        fn handle(&mut self, _: (), s: &mut Scheduler<()>) {
            self.0 -= 1;
            if self.0 == 0 {
                s.stop();
            } else {
                s.schedule_in(1, ());
            }
        }
    }

    #[test]
    fn stop_and_exhaustion() {
        let mut sim = Simulation::new(Countdown(5));
        sim.schedule_at(0, ()).unwrap();
        sim.schedule_at(100, ()).unwrap();
        assert_eq!(sim.run(), RunEnd::Stopped);
        assert_eq!(sim.now(), 4);
        assert_eq!(sim.pending(), 1);
        sim.model_mut().0 = 1000;
        // the event at 100 resumes the countdown: 100, 101, ..., 150
        assert_eq!(sim.run_until(150), RunEnd::Horizon);
        assert_eq!(sim.model().0, 1000 - 51);
        assert_eq!(sim.events_processed(), 5 + 51);
        let mut empty = Simulation::new(Countdown(1));
        assert_eq!(empty.run(), RunEnd::Exhausted);
        assert_eq!(empty.now(), 0);
    }
}
