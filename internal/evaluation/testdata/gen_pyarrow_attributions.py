"""Writes pyarrow_attributions.arrow, an attributions file as pyarrow writes it
(a FixedShapeTensorArray column), for attributions_test.go: 2 clips of the
split of seed 77, volumes [4, 4, 4] with value (index + 1) * (k + 1) / 64 at
flat position k, rows in reverse order.

    python3 gen_pyarrow_attributions.py
"""
import numpy as np
import pyarrow as pa

n, shape = 2, (4, 4, 4)
index = np.array([1, 0], np.int64)
vols = np.stack([(i + 1) * (np.arange(64) + 1) / 64 for i in index]).reshape((n,) + shape).astype(np.float32)
tensor = pa.FixedShapeTensorArray.from_numpy_ndarray(vols)
table = pa.table({"index": index, "volume": tensor, "seconds": np.array([0.5, 0.25])})
table = table.replace_schema_metadata({"staa.method": "shap (python)", "staa.seed": "77", "staa.n": str(n)})
with pa.OSFile("pyarrow_attributions.arrow", "wb") as f, pa.ipc.new_file(f, table.schema) as w:
    w.write_table(table)
