"""Virtual Care's use cases by topic: the price list (:mod:`.prices`), a patient's visit from
intake to payment (:mod:`.visits`), the clinician's side (:mod:`.treatment`), the conversation
(:mod:`.messages`), ratings (:mod:`.ratings`) and who may open a visit (:mod:`.access`)."""
