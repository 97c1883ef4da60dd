"""notebooks/window_classifier.ipynb runs top to bottom (nbclient), so it cannot drift from the code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "window_classifier.ipynb"
CORPUS = [ROOT / "corpora" / f"wn-pld.{split}.conll" for split in ("train", "dev", "test")]


def test_notebook_is_committed_without_outputs():
    nbformat = pytest.importorskip("nbformat", reason="needs the test extra: pip install -e '.[test]'")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert nb.metadata.kernelspec.name == "python3"


@pytest.fixture()
def kernel_manager(tmp_path):
    """A kernel that runs this interpreter (the venv's python), whatever kernelspecs the machine has."""
    pytest.importorskip("ipykernel", reason="needs the test extra: pip install -e '.[test]'")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec_dir = tmp_path / "kernels" / "windowner-test"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "windowner test",
                "language": "python",
                # headless inline plots; one BLAS thread, as several test processes share the CPU cores
                "env": {
                    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                    "OPENBLAS_NUM_THREADS": "1",
                    "OMP_NUM_THREADS": "1",
                    "MKL_NUM_THREADS": "1",
                    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                },
            }
        )
    )
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return KernelManager(kernel_name="windowner-test", kernel_spec_manager=ksm)


def test_notebook_executes_top_to_bottom(kernel_manager):
    missing = [p.name for p in CORPUS if not p.exists()]
    if missing:
        pytest.skip(f"the notebook trains on corpora/; missing {', '.join(missing)} (run corpora/build.py)")
    nbformat = pytest.importorskip("nbformat", reason="needs the test extra: pip install -e '.[test]'")
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    probe = "import sys, windowner; print('KERNEL', sys.executable, windowner.__file__)"
    nb.cells.append(nbformat.v4.new_code_cell(probe))
    # run from notebooks/, as a reader opening it in Jupyter would
    client = NotebookClient(nb, km=kernel_manager, timeout=300, resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError with the failing cell's traceback

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    # the kernel was this venv's python, importing this checkout's package
    assert f"KERNEL {sys.executable} {ROOT / 'windowner' / '__init__.py'}" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # loss/F1 curves, saliency heatmap, saliency bars
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "entities" in html and "LOC" in html  # the displaCy rendering
    assert "net.backward agrees" in text and "largest relative error" in text and "relative error vs central" in text
