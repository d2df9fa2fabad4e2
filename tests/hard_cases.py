"""A CSV long-format file of hard cases, shared by the reader's and the registry's tests: treatments,
values on any row, repeated rows, quoted and multi-line extra values, visceral regions, area and segment
slugs, a float that prints long, markup-like text (the console must not read it)."""

HARD = """\
patient_id,date,kind,regions,sex,birth_year,crps_type,pain,css,crp,treatment,note
Q-2,2019-03-01,trauma,hand_right,male,1970,II,6.5,,,,"[bold]fell, ""badly"" twice"
Q-2,2019-03-01,onset,hand_palm_right;visceral_bladder,male,1970,II,,3,,,
Q-2,2019-03-01,treatment_start,hand_right,male,1970,II,,,,PT,
Q-2,2019-03-01,treatment_start,hand_right,male,1970,II,,,,PT,
Q-2,2019-05-01,treatment_end,hand_right,male,1970,II,0.1,,,PT,"two
lines"
Q-2,2019-05-01,assessment,,male,1970,II,2,,0.30000000000000004,Zoledronsäure,
Q-2,2019-06-01,treatment_end,foot_left,male,1970,II,,,,Ketamine,[/x]
A-1,2018-01-01,assessment,forearm_front_right;upper_arm_left,unknown,,unknown,,17,1e-05,,
"""
