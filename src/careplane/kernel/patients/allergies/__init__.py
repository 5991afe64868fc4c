"""The patient's allergy list (FHIR AllergyIntolerance), kept with the patient record in the kernel.

Every clinical unit reads it (chart review in Virtual Care, Pharmacy's safety checks), so it lives
beside the registry rather than in one unit: ``models`` (the table), ``service`` (the use cases,
behind :mod:`careplane.kernel.access`), ``fhir`` (the R4 rendering), ``api``, ``pages`` and
``sections`` (the chart and portal sections). docs/allergies.md describes it for users.
"""
