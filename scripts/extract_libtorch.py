"""Extract a CPU-only libtorch (headers + torch_cpu, c10 and their runtime deps)
from the PyPI torch wheel and the NVIDIA runtime wheels it links against.

usage: extract_libtorch.py WHEEL_DIR OUT_DIR TORCH_VERSION
"""
import glob
import os
import shutil
import sys
import zipfile

wheel_dir, out, version = sys.argv[1:4]
tmp = out + ".partial"
shutil.rmtree(tmp, ignore_errors=True)
os.makedirs(os.path.join(tmp, "lib"))

torch_whl = glob.glob(os.path.join(wheel_dir, f"torch-{version}-*.whl"))
if not torch_whl:
    sys.exit(f"no torch-{version} wheel in {wheel_dir}")
# libtorch.so is linked by tch's build script but needs nothing from us at run
# time (--as-needed drops it); the CUDA libraries are left out on purpose.
keep = {"libc10.so", "libtorch_cpu.so", "libtorch.so", "libgomp.so.1",
        "libtorch_global_deps.so", "libshm.so"}
with zipfile.ZipFile(torch_whl[0]) as z:
    for info in z.infolist():
        name = info.filename
        if name.startswith("torch/include/") and not name.endswith("/"):
            dest = os.path.join(tmp, name[len("torch/"):])
        elif name.startswith("torch/lib/") and os.path.basename(name) in keep:
            dest = os.path.join(tmp, "lib", os.path.basename(name))
        else:
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(info) as src, open(dest, "wb") as dst:
            shutil.copyfileobj(src, dst)

for pattern, lib in [("nvidia_cuda_runtime-*.whl", "libcudart.so.13"),
                     ("nvidia_cuda_cupti-*.whl", "libcupti.so.13")]:
    whl = glob.glob(os.path.join(wheel_dir, pattern))
    if not whl:
        sys.exit(f"no {pattern} in {wheel_dir}")
    with zipfile.ZipFile(whl[0]) as z:
        member = [n for n in z.namelist() if n.endswith("/" + lib)]
        if not member:
            sys.exit(f"{whl[0]} has no {lib}")
        with z.open(member[0]) as src, open(os.path.join(tmp, "lib", lib), "wb") as dst:
            shutil.copyfileobj(src, dst)

with open(os.path.join(tmp, "build-version"), "w") as f:
    f.write(version + "\n")
shutil.rmtree(out, ignore_errors=True)
os.rename(tmp, out)
