//! Upload progress: bars on an interactive terminal, plain lines elsewhere (CI logs).
#![allow(clippy::print_stderr)]

use std::collections::HashMap;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use pypi_exchange::upload::{FileResult, UploadReporter};

use crate::output::Printer;

/// Reports upload progress.
pub struct UploadProgress {
    bars: Option<MultiProgress>,
    active: Mutex<HashMap<String, ProgressBar>>,
    quiet_lines: bool,
}

impl UploadProgress {
    /// Bars when stderr is a terminal, lines otherwise.
    pub fn new(printer: &Printer) -> Self {
        let bars = printer
            .is_tty()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self {
            bars,
            active: Mutex::new(HashMap::new()),
            quiet_lines: printer.is_quiet(),
        }
    }

    /// Removes every bar (before the results are printed).
    pub fn clear(&self) {
        if let Some(bars) = &self.bars {
            let _ = bars.clear();
        }
    }
}

impl UploadReporter for UploadProgress {
    fn started(&self, filename: &str, size: u64) {
        let Some(bars) = &self.bars else {
            if !self.quiet_lines {
                eprintln!(
                    "{:>12} {filename} ({})",
                    "Uploading",
                    crate::shared::human_size(size)
                );
            }
            return;
        };
        let bar = bars.add(ProgressBar::new(size));
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:40!} {bar:30.cyan/blue} {bytes:>10}/{total_bytes:10} {bytes_per_sec}",
        ) {
            bar.set_style(style);
        }
        bar.set_message(filename.to_owned());
        if let Ok(mut active) = self.active.lock()
            && let Some(previous) = active.insert(filename.to_owned(), bar)
        {
            previous.finish_and_clear();
        }
    }

    fn progress(&self, filename: &str, sent: u64) {
        if let Ok(active) = self.active.lock()
            && let Some(bar) = active.get(filename)
        {
            bar.inc(sent);
        }
    }

    fn finished(&self, result: &FileResult) {
        if let Ok(mut active) = self.active.lock()
            && let Some(bar) = active.remove(&result.filename)
        {
            bar.finish_and_clear();
        }
    }
}
