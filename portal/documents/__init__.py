"""Documents: text extraction from uploads (:mod:`portal.documents.text`)."""
