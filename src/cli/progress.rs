//! Progress of long commands (`hv`, `simulate --sweep`) on stderr: a bar or spinner on
//! a terminal; off a terminal (CI logs, `nohup`), plain lines, at most one every 2 s,
//! and a last one when the work took that long.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Seconds between plain progress lines.
const PLAIN_EVERY_S: f64 = 2.0;

/// A progress report of `len` steps (`None`: a spinner, no count).
pub struct Progress {
    bar: ProgressBar,
    label: String,
    len: Option<u64>,
    plain: bool,
    start: Instant,
    done: AtomicU64,
    last_line: Mutex<Instant>,
    /// Stops the heartbeat thread of an uncounted plain report.
    stop: Arc<AtomicBool>,
    heartbeat: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Starts reporting `label`.
    pub fn new(label: &str, len: Option<u64>) -> Progress {
        let plain = !std::io::stderr().is_terminal();
        let bar = match len {
            Some(n) => {
                let b = ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr());
                b.set_style(
                    ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                b
            }
            None => {
                let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                b.set_style(
                    ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                b.enable_steady_tick(Duration::from_millis(120));
                b
            }
        };
        bar.set_message(label.to_string());
        let stop = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        // off a terminal, an uncounted task says every 2 s that it is still running
        let heartbeat = (plain && len.is_none()).then(|| {
            let (stop, label) = (stop.clone(), label.to_string());
            std::thread::spawn(move || {
                let mut next = PLAIN_EVERY_S;
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                    let t = start.elapsed().as_secs_f64();
                    if t >= next {
                        eprintln!("{label}: running for {t:.0} s");
                        next += PLAIN_EVERY_S;
                    }
                }
            })
        });
        Progress {
            bar,
            label: label.to_string(),
            len,
            plain,
            start,
            done: AtomicU64::new(0),
            last_line: Mutex::new(start),
            stop,
            heartbeat,
        }
    }

    /// One step done (callable from worker threads).
    pub fn inc(&self) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        self.bar.inc(1);
        if self.plain {
            let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed().as_secs_f64() >= PLAIN_EVERY_S {
                *last = Instant::now();
                eprintln!("{}: {done}/{}", self.label, self.len.unwrap_or(0));
            }
        }
    }

    /// Ends the report: clears the bar; off a terminal, a last line when the work took
    /// longer than the line interval.
    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.heartbeat.take() {
            let _ = h.join();
        }
        self.bar.finish_and_clear();
        let t = self.start.elapsed().as_secs_f64();
        if self.plain && t >= PLAIN_EVERY_S {
            match self.len {
                Some(n) => eprintln!(
                    "{}: {}/{n} in {t:.1} s",
                    self.label,
                    self.done.load(Ordering::SeqCst)
                ),
                None => eprintln!("{}: done in {t:.1} s", self.label),
            }
        }
    }
}
