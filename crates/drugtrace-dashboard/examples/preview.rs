//! Renders every page from the sample data, in both languages, into
//! `target/dashboard-preview/*.html` (or `$CARGO_TARGET_DIR/dashboard-preview`), so the pages
//! can be opened in a browser or screenshotted.
//!
//! ```text
//! cargo run -p drugtrace-dashboard --example preview
//! ```

use std::path::PathBuf;

use drugtrace_dashboard::{Lang, sample};

fn main() -> std::io::Result<()> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("dashboard-preview");
    std::fs::create_dir_all(&dir)?;
    for lang in Lang::ALL {
        let suffix = match lang {
            Lang::Zh => "",
            Lang::En => ".en",
        };
        for (name, html) in sample::render_all(lang) {
            let path = dir.join(format!("{name}{suffix}.html"));
            std::fs::write(&path, html)?;
            println!("{}", path.canonicalize()?.display());
        }
    }
    Ok(())
}
