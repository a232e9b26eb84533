//! The watchdog: one document's render must end within the time limit, or
//! the run stops with a template error.
//!
//! A template is checked for time at every piece of output it prints
//! (`render::template`), but a loop that prints nothing (`{% for i in
//! range(end=10000) %}{% for j in range(end=10000) %}{% endfor %}…`) never
//! reaches that check, and a thread inside tera cannot be stopped. So the
//! time is watched from outside: rendering threads register each document
//! ([`Watchdog::watch`]) and a patrolling thread ([`Watchdog::patrol`])
//! hands the first document past the limit to its `on_breach`, which ends
//! the process (the journal and the documents written so far are safe, as
//! after a kill; the lock is released with the process). Uses the exit
//! codes of `error`.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long after the time limit the watchdog stops the run (the render's
/// own check at each write comes first when it can).
pub const GRACE: Duration = Duration::from_secs(1);

/// The message of a breach: the template, the limit and the document.
pub fn breach_message(template: &std::path::Path, limit: Duration, what: &str) -> String {
    let limit = limit.as_secs();
    format!(
        "テンプレート {} のエラー (template error): 1文書の描画が上限の {limit} 秒を超えました。\
         ループの回数を確かめてください (rendering one document took longer than {limit} s){what}",
        template.display()
    )
}

/// Runs `f` watched as the document `what`; a breach prints its message
/// and ends the process with the template-error code (2).
pub fn watched<T>(
    limit: Duration,
    template: &std::path::Path,
    what: &str,
    f: impl FnOnce() -> T,
) -> T {
    let dog = Watchdog::new(limit + GRACE);
    std::thread::scope(|s| {
        s.spawn(|| {
            dog.patrol(|what, _| {
                eprintln!("chohyo: {}", breach_message(template, limit, what));
                std::process::exit(crate::error::ExitCode::Input.code())
            })
        });
        let out = {
            let _watch = dog.watch(what.to_string());
            f()
        };
        dog.stop();
        out
    })
}

/// The documents being rendered, and whether the batch is over.
#[derive(Default)]
struct Watched {
    next: u64,
    /// Start time and description of each document in flight.
    in_flight: BTreeMap<u64, (Instant, String)>,
    stopped: bool,
}

/// Watches the render time of each document.
pub struct Watchdog {
    limit: Duration,
    state: Mutex<Watched>,
    wake: Condvar,
}

/// One document under watch; dropped when its render ends.
pub struct Watch<'a> {
    dog: &'a Watchdog,
    id: u64,
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.dog.state.lock() {
            s.in_flight.remove(&self.id);
        }
    }
}

impl Watchdog {
    /// A watchdog allowing each document `limit`.
    pub fn new(limit: Duration) -> Watchdog {
        Watchdog {
            limit,
            state: Mutex::new(Watched::default()),
            wake: Condvar::new(),
        }
    }

    /// Starts watching the render of the document `what` describes.
    pub fn watch(&self, what: String) -> Watch<'_> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let id = s.next;
        s.next += 1;
        s.in_flight.insert(id, (Instant::now(), what));
        Watch { dog: self, id }
    }

    /// Ends [`Watchdog::patrol`].
    pub fn stop(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.stopped = true;
        self.wake.notify_all();
    }

    /// Checks the documents in flight until [`Watchdog::stop`]: the first
    /// one past the limit is given to `on_breach` (with the time it has
    /// taken), once.
    pub fn patrol(&self, on_breach: impl Fn(&str, Duration)) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !s.stopped {
            let now = Instant::now();
            let oldest = s.in_flight.values().min_by_key(|(t, _)| *t);
            let wait = match oldest {
                Some((t, what)) if now.duration_since(*t) > self.limit => {
                    on_breach(what, now.duration_since(*t));
                    return;
                }
                // Wake just after the oldest document's limit.
                Some((t, _)) => self.limit - now.duration_since(*t) + Duration::from_millis(10),
                None => Duration::from_secs(1),
            };
            s = match self.wake.wait_timeout(s, wait) {
                Ok((guard, _)) => guard,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_past_the_limit_is_reported_once_and_others_are_not() {
        let dog = Watchdog::new(Duration::from_millis(50));
        let breached = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            s.spawn(|| dog.patrol(|what, _| breached.lock().unwrap().push(what.to_string())));
            drop(dog.watch("quick".into()));
            let _slow = dog.watch("slow".into());
            while breached.lock().unwrap().is_empty() {
                std::thread::sleep(Duration::from_millis(5));
            }
            dog.stop();
        });
        assert_eq!(*breached.lock().unwrap(), vec!["slow".to_string()]);
    }

    #[test]
    fn stop_ends_the_patrol_without_a_breach() {
        let dog = Watchdog::new(Duration::from_secs(60));
        std::thread::scope(|s| {
            s.spawn(|| dog.patrol(|what, _| panic!("no breach expected: {what}")));
            let _w = dog.watch("in flight".into());
            dog.stop();
        });
    }
}
