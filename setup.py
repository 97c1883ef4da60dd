"""Build hook (the rest of the metadata is in pyproject.toml): ship the corpus of the default model.

``windowner.load()`` with no model trains the default PER/LOC/DATE model on ``corpora/wn-pld.*.conll`` on first
use (see windowner/model/default.py). An installed windowner has no ``corpora/``, so the wheel carries a copy as
``windowner/data/corpus/``; git keeps only the one in ``corpora/``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CORPUS = Path(__file__).resolve().parent / "corpora"
SPLITS = ("train", "dev", "test")


class BuildPyWithCorpus(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads corpora/ in place
            return
        files = [CORPUS / f"wn-pld.{split}.conll" for split in SPLITS]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise SystemExit(f"windowner build: missing {', '.join(missing)}; build from a full clone or sdist")
        out = Path(self.build_lib) / "windowner" / "data" / "corpus"
        out.mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copyfile(f, out / f.name)


setup(cmdclass={"build_py": BuildPyWithCorpus})
