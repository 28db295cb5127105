fn main() {
    kiln_build::configure();
    // The plugin table of `all/plugin_table.rs`.
    kiln_build::Plugins::from_dir("plugins").write_table("plugins.rs").unwrap_or_else(|e| panic!("{e}"));
}
