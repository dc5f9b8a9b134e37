import sys
from pathlib import Path

# Make tests/vectors_util.py importable from every test directory.
sys.path.insert(0, str(Path(__file__).resolve().parent))
