"""Analyses of trained or fresh models: the gradient story of RNN, LSTM and GRU."""
