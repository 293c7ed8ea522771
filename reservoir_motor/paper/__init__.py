"""The paper's own figures and tables (Pyle & Rosenbaum 2019): its figures (``figures``, ``neural``,
``state``), its outcome table (``outcomes``), its Table 1 (``reproduce``) and the results page
(``results``). The only code of the package specific to the paper."""
