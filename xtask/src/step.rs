//! Named, timed steps: each prints what runs, how long it took, and a summary at the end.

use std::time::{Duration, Instant};

use crate::Result;

/// The steps of one chore, in the order they ran.
#[derive(Debug)]
pub struct Steps {
    started: Instant,
    done: Vec<(String, Outcome, Duration)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ran,
    Skipped,
    Failed,
}

impl Steps {
    pub fn new() -> Steps {
        Steps { started: Instant::now(), done: Vec::new() }
    }

    /// Runs one step, announcing it first and timing it.
    pub fn run<T>(&mut self, name: &str, body: impl FnOnce() -> Result<T>) -> Result<T> {
        println!("\n==> {name}");
        let started = Instant::now();
        let result = body();
        let took = started.elapsed();
        let outcome = if result.is_ok() { Outcome::Ran } else { Outcome::Failed };
        match outcome {
            Outcome::Failed => println!("<== {name}: FAILED after {}", human(took)),
            _ => println!("<== {name}: ok in {}", human(took)),
        }
        self.done.push((name.to_owned(), outcome, took));
        result.map_err(|e| format!("step `{name}` failed: {e}"))
    }

    /// Records a step that had nothing to do, and why.
    pub fn skip(&mut self, name: &str, why: &str) {
        println!("==> {name}: skipped ({why})");
        self.done.push((name.to_owned(), Outcome::Skipped, Duration::ZERO));
    }

    /// Prints every step with its time, and the total.
    pub fn summary(&self) {
        println!("\nsteps:");
        for (name, outcome, took) in &self.done {
            let what = match outcome {
                Outcome::Ran => human(*took),
                Outcome::Skipped => "skipped".to_owned(),
                Outcome::Failed => format!("FAILED after {}", human(*took)),
            };
            println!("  {what:>16}  {name}");
        }
        println!("  {:>16}  total", human(self.started.elapsed()));
    }
}

impl Default for Steps {
    fn default() -> Steps {
        Steps::new()
    }
}

/// `4.2s`, `3m 07.5s`.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let minutes = (secs / 60.0).floor();
        format!("{minutes}m {:04.1}s", secs - minutes * 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_seconds_then_minutes() {
        assert_eq!(human(Duration::from_millis(4_240)), "4.2s");
        assert_eq!(human(Duration::from_millis(187_500)), "3m 07.5s");
    }

    #[test]
    fn a_failed_step_names_itself_in_the_error() {
        let mut steps = Steps::new();
        let result: Result<()> = steps.run("lint", || Err("two warnings".into()));
        assert_eq!(result, Err("step `lint` failed: two warnings".to_owned()));
    }
}
