"""The limits of the command line's options and inputs: what a user may ask for, and why."""

#: seeds: NumPy's legacy seeding (Optuna's sampler, pyABC) takes 0 .. 2**32 - 1; the simulator more
MAX_SEED = 2**32 - 1
#: follow-up: the virtual clinic's records must fit between 1960 and the simulator's last date
MIN_YEARS, MAX_YEARS = 0.5, 50.0
MAX_SIM_PATIENTS = 1_000_000  # simulate streams to disk
MAX_TRIAL_PATIENTS = 100_000  # a trial keeps every patient's outcomes in memory
MAX_CALIBRATION_PATIENTS = 100_000
MAX_TRIALS = 10_000
MAX_WORKERS = 64
MAX_BLOCK = 100_000
MAX_CHUNK = 1_000_000
MAX_DAY = 36_525  # intervention days: 100 years
MAX_TRAUMA_WINDOW = 3_653  # 10 years
MAX_JSON_BYTES = 64 * 2**20
MAX_WARNINGS_SHOWN = 10
