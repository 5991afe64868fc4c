"""Pure codecs and check rules of the health-care standards careplane speaks.

Nothing here imports careplane: each module takes and returns plain values, so it can be tested,
reused and fuzzed on its own.
"""
