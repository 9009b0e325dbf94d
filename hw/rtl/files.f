# processor core sources in compile order (paths relative to this file)
mpe.v
