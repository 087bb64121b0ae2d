"""The gateway's views: read models of every topic (``projections``), the SQL that reads them
(``repository``), what each caller may see (``authorization``, pure), the views themselves
(``service``), their routes (``api``) and the measure of how far behind they are (``lag``)."""
