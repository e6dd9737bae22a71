"""Parameter types with their valid ranges, so a recipe that asks for nonsense (a NaN threshold, a
negative fraction, zero permutations) is refused with its key before anything runs. The registry
validates a stage's fields with pydantic, which reads these annotations."""

from typing import Annotated

from annotated_types import Ge, Gt, Le

Share = Annotated[float, Ge(0), Le(1)]  # a fraction or probability; NaN fails every comparison and is refused
Similarity = Annotated[float, Gt(0), Le(1)]
Rate = Annotated[float, Gt(0)]  # a positive amount (learning rate); NaN refused
AtLeastOne = Annotated[float, Ge(1)]  # a ratio such as largest/smallest class
Count = Annotated[int, Ge(0)]
Positive = Annotated[int, Ge(1)]
Folds = Annotated[int, Ge(2)]
