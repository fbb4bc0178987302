"""Analytics errors.

AppError
 +-- Unprocessable: UnknownDimension (`unknown_dimension`)
"""

from app.core.errors import Unprocessable


class UnknownDimension(Unprocessable):
    code, title = "unknown_dimension", "Unknown dimension"
