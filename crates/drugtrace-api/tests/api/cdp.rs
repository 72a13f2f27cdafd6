//! Just enough of the Chrome DevTools Protocol to use a page as a person does: headless
//! Chromium started with `--remote-debugging-pipe`, whose commands and answers are JSON
//! messages ending in a NUL byte on its file descriptors 3 (in) and 4 (out). The shell
//! opens two named pipes on those descriptors, so no crate and no network port are needed.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A headless Chromium and one page (tab) in it.
pub struct Browser {
    child: Child,
    to_browser: File,
    from_browser: BufReader<File>,
    next_id: u64,
    session: String,
    events: VecDeque<Value>,
    _dir: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium with a fresh profile and opens a page `width` pixels wide.
    pub fn start(chromium: &str, width: u32, height: u32) -> Browser {
        let dir = tempfile::tempdir().unwrap();
        let (to, from) = (dir.path().join("to.fifo"), dir.path().join("from.fifo"));
        for fifo in [&to, &from] {
            let ok = Command::new("mkfifo").arg(fifo).status().unwrap();
            assert!(ok.success(), "mkfifo {}", fifo.display());
        }
        let profile = dir.path().join("profile");
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<"$TO" 4>"$FROM""#)
            .arg(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .env("TO", &to)
            .env("FROM", &from)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The shell opens `to` for reading, then `from` for writing: open the other ends
        // in the same order.
        let to_browser = File::options().write(true).open(&to).unwrap();
        let from_browser = BufReader::new(File::open(&from).unwrap());
        let mut b = Browser {
            child,
            to_browser,
            from_browser,
            next_id: 0,
            session: String::new(),
            events: VecDeque::new(),
            _dir: dir,
        };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}));
        let target = target["targetId"].as_str().unwrap().to_owned();
        let attached = b.call(
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_owned();
        b.page("Page.enable", json!({}));
        b.page(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
        b
    }

    fn send(&mut self, method: &str, params: Value, session: bool) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if session {
            msg["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to_browser.write_all(&bytes).unwrap();
        loop {
            let m = self.read();
            if m["id"] == id {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
            self.events.push_back(m);
        }
    }

    fn read(&mut self) -> Value {
        let mut buf = Vec::new();
        let n = self.from_browser.read_until(0, &mut buf).unwrap();
        assert!(n > 0, "Chromium closed its pipe");
        buf.pop();
        serde_json::from_slice(&buf).unwrap()
    }

    /// A browser-wide command.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, false)
    }

    /// A command to the page.
    pub fn page(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, true)
    }

    /// Waits for the page's next `load` event.
    fn wait_load(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(i) = self
                .events
                .iter()
                .position(|e| e["method"] == "Page.loadEventFired")
            {
                self.events.drain(..=i);
                return;
            }
            assert!(Instant::now() < deadline, "the page did not load");
            let m = self.read();
            self.events.push_back(m);
        }
    }

    /// Opens `url` and waits until it loaded.
    pub fn goto(&mut self, url: &str) {
        self.events.clear();
        self.page("Page.navigate", json!({"url": url}));
        self.wait_load();
    }

    /// Runs `script` in the page; returns its value.
    pub fn eval(&mut self, script: &str) -> Value {
        let r = self.page(
            "Runtime.evaluate",
            json!({"expression": script, "returnByValue": true}),
        );
        r["result"]["value"].clone()
    }

    /// Runs `script`, which makes the page navigate (submits a form), and waits for the new
    /// page to load.
    pub fn eval_and_wait(&mut self, script: &str) {
        self.events.clear();
        self.eval(script);
        self.wait_load();
    }

    /// A PNG of the whole page (at most `max_height` pixels tall) written to `path`.
    pub fn screenshot(&mut self, path: &Path, max_height: f64) {
        let metrics = self.page("Page.getLayoutMetrics", json!({}));
        let size = &metrics["cssContentSize"];
        let (w, h) = (
            size["width"].as_f64().unwrap(),
            size["height"].as_f64().unwrap().min(max_height),
        );
        let shot = self.page(
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1},
            }),
        );
        let png = base64_decode(shot["data"].as_str().unwrap());
        std::fs::write(path, png).unwrap();
    }
}

impl Browser {
    /// Renders the page for `media` (`print`, or `""` for the screen again), as
    /// `Emulation.setEmulatedMedia` does: a screenshot then shows the print stylesheet.
    pub fn emulate_media(&mut self, media: &str) {
        self.page("Emulation.setEmulatedMedia", json!({"media": media}));
    }

    /// The page printed as Chromium prints it (`Page.printToPDF`: on A4 unless the page's
    /// `@page` says otherwise, without backgrounds), written to `path`; returns the PDF.
    pub fn print_to_pdf(&mut self, path: &Path) -> Vec<u8> {
        let printed = self.page(
            "Page.printToPDF",
            json!({
                "paperWidth": 8.27,
                "paperHeight": 11.69,
                "preferCSSPageSize": true,
                "printBackground": false,
            }),
        );
        let pdf = base64_decode(printed["data"].as_str().unwrap());
        std::fs::write(path, &pdf).unwrap();
        pdf
    }
}

/// How many pages a PDF has: its `/Type /Page` objects (not the `/Type /Pages` tree nodes),
/// in the uncompressed dictionaries Chromium writes them in.
pub fn pdf_pages(pdf: &[u8]) -> usize {
    let mut pages = 0;
    for marker in [&b"/Type /Page"[..], &b"/Type/Page"[..]] {
        pages += pdf
            .windows(marker.len() + 1)
            .filter(|w| w.starts_with(marker) && !w[marker.len()].is_ascii_alphanumeric())
            .count();
    }
    pages
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .to_browser
            .write_all(b"{\"id\":0,\"method\":\"Browser.close\"}\0");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Decodes standard base64 (the protocol's encoding of binary data).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let bytes: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c) << (18 - 6 * i);
        }
        let full = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&full[..chunk.len() - 1]);
    }
    out
}

#[test]
fn pdf_pages_count_pages_not_the_page_tree() {
    let pdf = b"1 0 obj <</Type /Pages /Kids [2 0 R 3 0 R] /Count 2>> endobj \
                2 0 obj <</Type /Page /Parent 1 0 R>> endobj 3 0 obj <</Type/Page>> endobj";
    assert_eq!(pdf_pages(pdf), 2);
}

#[test]
fn base64_decodes() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGk="), b"hi");
    assert_eq!(base64_decode("YWJj"), b"abc");
}
