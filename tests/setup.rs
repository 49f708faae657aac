//! The set-up checks `make deps` relies on, against the machines they must tell apart: the
//! base image (LLVM's libclang-cpp, no libclang) must install libclang-dev; a machine with
//! libclang (from libclang-dev or libclang1-N alone) must not.

mod common;

use std::process::Command;

fn has_libclang(paths: &[&str]) -> bool {
    let list = std::env::temp_dir().join(format!(
        "fivestar-libclang-{}-{}.txt",
        std::process::id(),
        paths.len()
    ));
    std::fs::write(&list, paths.join("\n")).unwrap();
    let status = Command::new("bash")
        .arg(common::root().join(".ci/has-libclang"))
        .arg("--list")
        .arg(&list)
        .status()
        .unwrap();
    let _ = std::fs::remove_file(&list);
    assert!(matches!(status.code(), Some(0 | 1)), "{status:?}");
    status.success()
}

#[test]
fn libclang_cpp_alone_is_not_libclang() {
    // What the base image has: ldconfig's cache and LLVM 14's lib folder.
    let base_image = [
        "/lib/x86_64-linux-gnu/libclang-cpp.so.14",
        "/usr/lib/llvm-14/lib/libclang-cpp.so.14",
        "/usr/lib/llvm-14/lib/libLLVM-14.so",
    ];
    assert!(
        !has_libclang(&base_image),
        "the base image needs libclang-dev"
    );
    let static_only = [
        "/usr/lib/llvm-14/lib/libclangBasic.a",
        "/usr/lib/llvm-14/lib/libclang.a",
    ];
    assert!(!has_libclang(&static_only));

    // libclang1-14 alone (a versioned library bindgen loads at run time), or libclang-dev.
    for found in [
        "/usr/lib/llvm-14/lib/libclang-14.so.1",
        "/usr/lib/x86_64-linux-gnu/libclang-14.so.14.0.6",
        "/usr/lib/llvm-14/lib/libclang.so",
        "/usr/lib/llvm-14/lib/libclang.so.1",
        "/usr/lib/x86_64-linux-gnu/libclang-14.so",
    ] {
        let mut paths = base_image.to_vec();
        paths.push(found);
        assert!(has_libclang(&paths), "{found} is a libclang bindgen loads");
    }
}

#[test]
fn make_deps_uses_the_check() {
    let out = Command::new("make")
        .args(["-n", "deps"])
        .current_dir(common::root())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(".ci/has-libclang") && text.contains("libclang-dev"),
        "{text}"
    );
}
