//! Data-driven tests over GS1's EPCIS 2.0 examples (JSON-LD and XML), read from the shared
//! folder beside the repository, never copied into it.

mod documents;
mod hash_ids;
mod round_trip;

use std::path::{Path, PathBuf};

use drugtrace_epcis::Document;

/// GS1's examples: `JSON/` and `XML/` of github.com/gs1/EPCIS, see `SOURCE.txt` there.
pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/epcis");

/// Every example file under `JSON/` and `XML/` (`.json`, `.jsonld`, `.xml`), as paths
/// relative to [`SHARED`], sorted.
pub fn example_files() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("json" | "jsonld" | "xml")
            ) {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&Path::new(SHARED).join("JSON"), &mut paths);
    walk(&Path::new(SHARED).join("XML"), &mut paths);
    let mut names: Vec<String> = paths
        .iter()
        .map(|p| {
            p.strip_prefix(SHARED)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// The text of an example file.
pub fn text(name: &str) -> String {
    std::fs::read_to_string(Path::new(SHARED).join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// An example file read, which must succeed.
pub fn read(name: &str) -> Document {
    Document::read(&text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}
