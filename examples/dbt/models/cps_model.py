"""Train the duck_synth model 'cps' on the seed, and add the validator rules the synthetic table must obey.

A dbt Python model receives dbt's DuckDB cursor as ``session``. Training writes the model into the
duck_synth schema of the same database; the table this model materialises is a one-row summary.
"""

import duck_synth as ds


def model(dbt, session):
    dbt.config(materialized="table")
    seed = dbt.ref("cps1988_sample")  # declares the dependency; duck_synth reads the table by name
    epochs = int(dbt.config.get("epochs") or 3)
    # dbt runs this model inside its own transaction: train on a separate cursor, which commits on its own
    trainer = session.cursor()
    try:
        ds.train(trainer, "cps1988_sample", model="cps", epochs=epochs, seed=0, replace=True)
        ds.add_rule(trainer, "cps", "wage_positive", "wage > 0")
        ds.add_rule(trainer, "cps", "experience_not_negative", "experience >= 0")
    finally:
        trainer.close()
    ds.register(session)  # this cursor may run the next model: make the new model visible to it
    return seed.aggregate("count(*) AS training_rows").project(
        "'cps' AS model, training_rows, current_timestamp AS trained_at")
