"""Stage 5, preprocessing: the teacher run once over an input, its top-K kept
as records (`preprocessing`; its input in batches: `input_batches`; one
batch's scores to records: `scoring`), on an Apache Beam runner (`beam`),
or from a teacher that ran elsewhere (`record_writer`)."""
