from milvus_migrate.cli import main

main()
