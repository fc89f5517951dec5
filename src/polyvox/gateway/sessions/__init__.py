"""Long-lived WebSocket sessions: TTS (text in, pcm out), STT (pcm in, transcripts out)."""
