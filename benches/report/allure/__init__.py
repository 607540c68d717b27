"""Allure: a sign-off test's labels, steps and evidence (``attachments``), the run's
categories, environment and executor files (``metadata``, written as Java properties by
``properties``), and the HTML report rendered by the Allure CLI (``render``)."""
