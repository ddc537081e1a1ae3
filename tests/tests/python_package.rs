//! The Python package (`clients/python`, import name `stratus`) against the
//! real server: its checked-in stubs match `proto/`, and its pytest suite
//! (`tests/python-package`) passes.
//!
//! Sets up a virtualenv in `target/py-package` with the package, its
//! dependencies and `tests/python-package/requirements.txt` (once per change
//! of those files; later runs reuse it), reinstalls the package from the
//! working tree on every run (no download), checks the stubs with
//! `generate_stubs.py --check`, and runs `pytest tests/python-package`.

use stratus_e2e::{PythonEnv, ensure_built, workspace_root};

#[test]
fn python_package_matches_the_protos_and_passes_its_tests() {
    ensure_built();
    let root = workspace_root();
    let package = root.join("clients/python");
    let requirements = root.join("tests/python-package/requirements.txt");
    // The virtualenv is remade when the test requirements or the package's
    // own dependencies (pyproject.toml) change.
    let wanted = std::fs::read_to_string(&requirements).expect("requirements.txt")
        + &std::fs::read_to_string(package.join("pyproject.toml")).expect("pyproject.toml");
    let package = package.to_str().expect("utf-8 path");
    let requirements = requirements.to_str().expect("utf-8 path");
    let python = PythonEnv::ensure("py-package", &wanted, &["-r", requirements, package]);
    // The package as it is in the working tree now (no download: its
    // dependencies and setuptools are in the virtualenv already).
    python.run(
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
    python.run(
        &[generate.to_str().expect("utf-8 path"), "--check"],
        "generate_stubs.py --check (the stubs do not match proto/)",
    );
    python.pytest("tests/python-package");
}
