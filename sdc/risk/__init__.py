"""Risk measures: key frequencies, individual/global/household risk, l-diversity, SUDA2."""
