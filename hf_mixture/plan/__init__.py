"""`hf-mixture plan`: what a stage build would do, computed before building it.

Per entry the plan runs the build's own metadata path (`EntryPipeline.select` and `.records`: filters,
sampling, preprocess, `<image>` repairs, invariants; no image read), so those counts are the build's by
construction; probes a seeded sample of the kept rows' images with the build's media step
(`embed_images`, nothing written) to estimate media drops, bytes and time; and interleaves index-only
datasets of the entries' sizes with the build's `mix_entries` for the rows written and how often a row
repeats. Modules: `entry.py` (one entry), `probe.py` (image sample), `mix.py` (interleave counts),
`stage.py` (the stage: estimates, warnings), `render.py` (table).
"""
