fn main() {
    // Capabilities live in src-tauri/ while tauri.conf.json sits at the repository root.
    let attrs =
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*");
    if let Err(err) = tauri_build::try_build(attrs) {
        panic!("tauri build step failed: {err:#}");
    }
}
