//! A table of plugins compiled by build.rs (`kiln_build::Plugins`): every
//! module of `plugins/`, embedded in place, picked by name at run time.

use kiln::{Artifact, Instance, Module, Store};

include!(concat!(env!("OUT_DIR"), "/plugins.rs"));

fn plugin(name: &str) -> Option<&'static Artifact> {
    let i = PLUGINS.binary_search_by_key(&name, |(n, _)| n).ok()?;
    Some(&PLUGINS[i].1)
}

fn apply(name: &str, text: &str) -> String {
    let module = Module::new(plugin(name).unwrap()).unwrap();
    assert!(module.is_in_place(), "{name} runs in place");
    let mut store = Store::new(());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let apply = instance.get_typed_func::<i32, i32>(&mut store, "apply").unwrap();
    text.bytes().map(|b| apply.call(&mut store, b as i32).unwrap() as u8 as char).collect()
}

#[test]
fn every_plugin_of_the_folder_is_in_the_table_sorted() {
    let names: Vec<&str> = PLUGINS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["rot13", "upper"]);
    assert!(PLUGINS.iter().all(|(_, a)| a.is_in_place()));
    assert!(plugin("missing").is_none());
}

#[test]
fn plugins_are_picked_by_name_and_run_in_place() {
    assert_eq!(apply("upper", "kiln 1.0"), "KILN 1.0");
    assert_eq!(apply("rot13", "Hello, kiln"), "Uryyb, xvya");
}
