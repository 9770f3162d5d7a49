//! The browser entry point: installs the panic hook and mounts the app.

#[cfg(target_arch = "wasm32")]
fn main() {
    roundtrip::ui::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("Roundtrip runs in the browser: serve it with `scripts/serve.sh` (see README.md).");
}
