//! Message texts in English, Arabic and Persian.
