//! Embeds the web build of the UI (`ui/dist-web`, made by `npm --prefix ui run build:web`) in the
//! service binary, as a table of `(path, bytes)` the `web` module serves. Without that folder (or
//! with it empty) the table is empty: the binary still serves the API, and `--web-dir` can name
//! the files instead.
//! `SHOTCLOCK_WEB_DIST` names another folder.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-env-changed=SHOTCLOCK_WEB_DIST");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let dist = std::env::var_os("SHOTCLOCK_WEB_DIST")
        .map_or_else(|| manifest.join("../../ui/dist-web"), PathBuf::from);
    // Watches the web build's folder only. Cargo scans a watched folder recursively, so its
    // parent (`ui/`, with node_modules) is never watched: a missing folder is made, empty, so
    // that a web build writing into it later changes what is watched (an empty folder embeds
    // nothing). Where it cannot be made, the missing path itself is watched, which makes cargo
    // run this script at every build until it exists.
    if !dist.is_dir() {
        let _ = std::fs::create_dir_all(&dist);
    }
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut found = Vec::new();
    if dist.is_dir() {
        files(&dist, &mut found)?;
        found.sort();
    }
    // Copies, not the build folder's own files: a web build rewritten while the compiler runs
    // would otherwise leave `include_bytes!` naming files that no longer exist.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let copies = out_dir.join("web");
    let _ = std::fs::remove_dir_all(&copies);
    std::fs::create_dir_all(&copies)?;
    let mut code = String::from("&[\n");
    for (i, file) in found.iter().enumerate() {
        let copy = copies.join(i.to_string());
        std::fs::copy(file, &copy)?;
        let rel = file
            .strip_prefix(&dist)?
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        writeln!(
            code,
            "    ({rel:?}, include_bytes!({:?}) as &[u8]),",
            copy.display().to_string()
        )?;
    }
    code.push_str("]\n");
    let out = out_dir.join("web_assets.rs");
    std::fs::write(out, code)?;
    Ok(())
}
