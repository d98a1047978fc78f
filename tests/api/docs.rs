//! The docs against the code: the README stays a first screen whose links
//! resolve, and every metric the broker exports is documented in
//! docs/operations.md.

use crate::helpers::repo_path;

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_path(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Relative link targets of a Markdown text (`](target)`, anchors dropped).
fn relative_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target.to_owned()))
        .filter(|target| !target.starts_with("http") && !target.starts_with('#'))
        .map(|target| target.split('#').next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn the_readme_is_a_first_screen_and_every_link_resolves() {
    let readme = read("README.md");
    assert!(readme.lines().count() <= 200, "README.md has {} lines", readme.lines().count());
    let mut pages = vec![("README.md".to_owned(), readme)];
    for entry in std::fs::read_dir(repo_path("docs")).unwrap() {
        let name = format!("docs/{}", entry.unwrap().file_name().to_string_lossy());
        let text = read(&name);
        pages.push((name, text));
    }
    for (page, text) in &pages {
        let base = std::path::Path::new(page).parent().unwrap();
        for target in relative_links(text) {
            let path = repo_path(base.join(&target).to_str().unwrap());
            assert!(path.exists(), "{page} links to {target}, which does not exist");
        }
    }
    let linked = relative_links(&pages[0].1);
    for (page, _) in &pages[1..] {
        assert!(linked.contains(page), "the README's table does not link {page}");
    }
}

#[test]
fn every_exported_metric_is_documented() {
    let source = read("src/telemetry.rs");
    let operations = read("docs/operations.md");
    let names: Vec<&str> = source
        .split('"')
        .filter(|s| s.starts_with("sandbox_broker_") && s.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect();
    assert!(names.len() > 10, "{names:?}");
    for name in names {
        assert!(operations.contains(name), "{name} is not in docs/operations.md");
    }
}

#[test]
fn the_resource_types_page_carries_the_cleanup_types_table() {
    let page = read("docs/resource-types.md");
    let (_, rest) = page.split_once("<!-- cleanup types -->\n").expect("opening marker");
    let (table, _) = rest.split_once("<!-- /cleanup types -->").expect("closing marker");
    let out = std::process::Command::new(crate::helpers::BIN).args(["cleanup", "types"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(table, String::from_utf8(out.stdout).unwrap(), "run `sandbox-broker cleanup types` and paste it");
    assert!(table.lines().count() > 60 + 2, "at least 60 types");
}
