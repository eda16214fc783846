"""How much a model file may ask for. A file from a stranger decides how many bytes we read, how
deep we parse and how big a network we build; every such number is capped here, well above what
any sensible model of this app needs, so a small file can never cost gigabytes or minutes.

Sizes are in bytes unless the name says otherwise.
"""
from __future__ import annotations

MiB = 1024 * 1024
GiB = 1024 * MiB

# -- reading files -----------------------------------------------------------------------------
MAX_MODEL_FILE_BYTES = 2 * GiB        # a checkpoint, state dict or exported archive
MAX_SIDECAR_BYTES = 1 * MiB           # the JSON next to an imported file
MAX_HEADER_BYTES = 16 * MiB           # a .safetensors header: tensor index plus metadata
MAX_METADATA_BYTES = 4 * MiB          # our JSON document inside that header
MAX_ARCHIVE_ENTRIES = 10_000          # entries of a zip archive (.pt, .pt2)
MAX_ARCHIVE_JSON_BYTES = 64 * MiB     # one JSON entry of a torch.export archive (its program)

# -- JSON values -------------------------------------------------------------------------------
MAX_JSON_DEPTH = 32                   # nesting of lists and objects in metadata and sidecars
MAX_PROGRAM_JSON_DEPTH = 128          # a torch.export program nests deeper than metadata
MAX_INT_DIGITS = 20                   # int64 has 19; Python's int parser has no such limit
MAX_ABS_INT = 2 ** 63 - 1
MAX_TEXT_CHARS = 100_000              # one string in metadata
MAX_NAME_CHARS = 200                  # a class name, a model name, an architecture
MAX_LIST_ITEMS = 100_000              # one list in metadata (loss curves are a few hundred)

# -- declared shapes and configs ---------------------------------------------------------------
MAX_IMAGE_SIDE = 1024
MAX_IMAGE_CHANNELS = 4
MAX_LATENT_ELEMENTS = 1 << 20         # one latent (a DDPM's is an image: 3 x 512 x 512 fits)
MAX_CLASSES = 10_000
MAX_TIMESTEPS = 100_000               # a DDPM schedule; 1000 is usual
MAX_CONFIG_INT = 1 << 16              # any other integer of a network config (widths, dims)
MAX_CONFIG_LIST = 16                  # a list in a network config (channel multipliers, widths)
MAX_TENSOR_ELEMENTS = 1 << 28         # one tensor a torch.export program declares (1 GiB of float32)
