"""Regenerate src/polyvox/_proto from proto/ (run: `make proto`).

The proto tree is mapped under the virtual prefix ``polyvox/_proto`` so the
generated modules import each other as ``polyvox._proto.polyvox.v1...``.
"""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]


def generate(out_dir: Path) -> None:
    """Write the generated modules for every .proto under proto/ into out_dir."""
    protos = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "proto").rglob("*.proto"))
    include = str(files("grpc_tools") / "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{include}",
        "-Ipolyvox/_proto=proto",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for package_dir in (out_dir / "polyvox" / "_proto").rglob("*"):
        if package_dir.is_dir():
            (package_dir / "__init__.py").touch()


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "src"
    generate(target)
