//! The pipeline worker's entry point: Trunk builds this binary as a dedicated Web Worker that
//! the page starts; it serves the page's calls (see `roundtrip::worker`).

#[cfg(target_arch = "wasm32")]
fn main() {
    roundtrip::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "roundtrip-worker runs as the browser app's Web Worker: serve the app with `scripts/serve.sh`."
    );
}
