"""crpsmap: does CRPS spread, how, how often, how fast - and why?

Three pillars share one data type, the patient history: a registry records it, the spread classifier
and cohort statistics answer from it, and a neuro-immune simulator produces it from a hypothesis.
"""

__version__ = "0.1.0"
