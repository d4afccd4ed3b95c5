"""The only code that imports openpyxl, xlsxwriter or a fast reader.

Everything else hands plain Python values to these modules and gets plain values back.
"""
