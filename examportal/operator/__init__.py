"""The exam-system operator's console for supervising a session's theory test."""
