"""The scheduler: subscriptions refreshed on time, and items published at their "Publish at".

``policy`` decides when (pure), ``refresh`` refreshes one claimed source, ``publishing`` publishes
due items, ``ticker`` runs both in-process (``medcurate serve``, ``medcurate watch``), and ``queue``
runs them as RQ jobs on ``medcurate worker --with-scheduler``. Claims in the database
(``store.subscriptions``) make each refresh and each publication happen once, whichever runs it.
"""
