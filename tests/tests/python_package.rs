//! The Python package (`clients/python`, import name `stratus`) against the
//! real server: its checked-in stubs match `proto/`, and its pytest suite
//! (`tests/python-package`) passes.
//!
//! Sets up a virtualenv in `target/py-package` with the package, its
//! dependencies and `tests/python-package/requirements.txt` (once per change
//! of those files; later runs reuse it), reinstalls the package from the
//! working tree on every run (no download), checks the stubs with
//! `generate_stubs.py --check`, and runs `pytest tests/python-package`.

use std::path::Path;
use std::process::Command;

use stratus_e2e::{ensure_built, target_dir};

fn run(program: &Path, args: &[&str], what: &str) {
    let status = Command::new(program)
        .args(args)
        .env("STRATUS_BIN_DIR", target_dir())
        .status()
        .unwrap_or_else(|e| panic!("{what}: cannot run {}: {e}", program.display()));
    assert!(status.success(), "{what} failed ({status})");
}

#[test]
fn python_package_matches_the_protos_and_passes_its_tests() {
    ensure_built();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let venv = target_dir().parent().expect("target").join("py-package");
    let python = venv.join("bin/python");
    let package = root.join("clients/python");
    let requirements = root.join("tests/python-package/requirements.txt");
    let pyproject = package.join("pyproject.toml");
    let stamp = venv.join("requirements.installed");
    // The virtualenv is remade when the test requirements or the package's
    // own dependencies (pyproject.toml) change.
    let wanted = std::fs::read_to_string(&requirements).expect("requirements.txt")
        + &std::fs::read_to_string(&pyproject).expect("pyproject.toml");
    let package = package.to_str().expect("utf-8 path");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        let python3 = Path::new("python3");
        run(
            python3,
            &["-m", "venv", venv.to_str().expect("utf-8 path")],
            "creating the virtualenv",
        );
        let requirements = requirements.to_str().expect("utf-8 path");
        run(
            &python,
            &[
                "-m",
                "pip",
                "install",
                "--quiet",
                "-r",
                requirements,
                package,
            ],
            "pip install",
        );
        std::fs::write(&stamp, wanted).expect("write the install stamp");
    }
    // The package as it is in the working tree now (no download: its
    // dependencies and setuptools are in the virtualenv already).
    run(
        &python,
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--force-reinstall",
            package,
        ],
        "pip install ./clients/python",
    );
    let generate = root.join("clients/python/generate_stubs.py");
    run(
        &python,
        &[generate.to_str().expect("utf-8 path"), "--check"],
        "generate_stubs.py --check (the stubs do not match proto/)",
    );
    let tests = root.join("tests/python-package");
    run(
        &python,
        &[
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            tests.to_str().expect("utf-8 path"),
        ],
        "pytest tests/python-package",
    );
}
