"""xpnn.optim"""
