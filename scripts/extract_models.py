"""Copy the Control Suite task models out of a dm-control wheel.

usage: extract_models.py DM_CONTROL_WHEEL OUT_DIR
"""
import os
import sys
import zipfile

wheel, out = sys.argv[1:3]
files = ["cheetah.xml", "walker.xml", "hopper.xml", "humanoid.xml",
         "common/materials.xml", "common/skybox.xml", "common/visual.xml"]
with zipfile.ZipFile(wheel) as z:
    for name in files:
        dest = os.path.join(out, name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = dest + ".tmp"
        with open(tmp, "wb") as f:
            f.write(z.read("dm_control/suite/" + name))
        os.replace(tmp, dest)
