"""Reports people read: the weekly situation report as HTML and PDF (issue 7).

``weekly.weekly_figures`` gathers the figures from the store, ``charts`` and ``map``
draw them, ``render`` lays them out with Jinja and WeasyPrint.
"""
