"""The PDF compliance report (`ario-verifier report`): drives one audit run, keeps bounded
aggregates, renders HTML from escaped evidence and, via WeasyPrint (imported only by
`pdf.py`), a PDF/A-3u with the evidence attached. Layered above `verifier.audit`."""
